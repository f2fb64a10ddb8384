"""The ``ganedge`` command line. Subcommands are imported only when invoked (see main.LazyGroup)."""
