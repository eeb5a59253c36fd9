"""One click command per step: parse options, call one function, exit."""
