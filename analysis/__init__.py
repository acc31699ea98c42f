"""Analysis kernel of the living systematic review of donor-derived CD19 CAR-T for B-ALL after allo-HSCT."""
__version__ = "0.1.0"
