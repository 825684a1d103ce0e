"""Dashboard layer: Streamlit pages, widgets, caching and session state (the only streamlit user)."""
