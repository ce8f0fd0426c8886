"""The command line: ``cellreg run / predict / compare / bench / plugins / validate``."""
