"""Property-based tests (hypothesis) for every parser of untrusted input: few examples each, with a deadline."""
from hypothesis import strategies as st

# Any JSON value, small: what a platform or consumer could put where we expect something else.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=8,
)
