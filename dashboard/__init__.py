"""The Streamlit follow-up-centre dashboard for nurses and GPs; talks to the API only.

Arrives with issue 7.
"""
