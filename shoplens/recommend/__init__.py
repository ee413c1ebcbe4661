"""Similar items and recommendations: vector neighbours, session co-views, popularity, profiles."""
