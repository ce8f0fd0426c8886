from cellreg import hookimpl


@hookimpl
def cellreg_plugins():
    return []
