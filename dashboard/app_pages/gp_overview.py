"""Placeholder."""

import streamlit as st

st.title("gp_overview")
