"""Side-by-side benchmarks on the real local stack; each prints ratios, never asserts."""
