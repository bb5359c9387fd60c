"""The `medscale` command. Each subcommand lives in its own module, imported only when used."""
