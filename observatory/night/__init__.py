"""One simulated night: when it starts, what it observes, and what it produced."""
