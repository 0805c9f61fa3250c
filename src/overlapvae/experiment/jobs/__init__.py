"""The jobs the commands run, each from its composed config: train, evaluate, audit, learn a kernel."""
