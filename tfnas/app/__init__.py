"""The application layer: the `tfnas` command, YAML configs, data sources and the config pipeline.

Everything here sits on top of the library (`tfnas.search`, `SearchResult`,
`tfnas.deploy`) and nothing in the library imports it.
"""
