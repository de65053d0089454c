"""The evaluation harness: everything between a candidate's source and its verdict."""
