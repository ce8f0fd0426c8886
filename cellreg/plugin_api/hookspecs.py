"""The one hook a cellreg plugin implements.

A plugin is a module named by an entry point in the ``cellreg`` group::

    [project.entry-points.cellreg]
    my_models = "my_package.plugin"

whose ``cellreg_plugins`` hook returns :class:`cellreg.plugin_api.plugin.Plugin` records::

    from cellreg import Plugin, hookimpl

    @hookimpl
    def cellreg_plugins():
        return [Plugin(kind="encoder", name="mine", factory=MyEncoder, config=MyConfig,
                       description="My encoder in one line.")]
"""

import pluggy

PROJECT = "cellreg"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def cellreg_plugins():
    """Return an iterable of Plugin records this module provides."""
