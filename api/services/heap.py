"""Keep the service's long-lived objects out of the cyclic garbage collector's scans.

A started service holds several hundred thousand long-lived Python objects: the imported libraries, the model
(tokenizer, taxonomy, n-gram vocabularies), the compiled page templates and the workspace's counted views. Every
full (generation 2) collection walks them all, a pause of a few hundred milliseconds that lands on whichever
requests are in flight. :func:`freeze_heap` moves what exists now into the permanent generation
(:func:`gc.freeze`), which collections skip. Frozen objects are still freed by reference counting when
they are dropped (a model reload); after a reload a previous freeze is undone first (``thaw``), so that cycles
left by the objects dropped since can be collected. Where nothing frozen was dropped (the end of start-up, the
end of the workspace warm-up) only the objects made since the last freeze are collected and frozen, without
walking the frozen ones again. Afterwards the C allocator hands the pages freed by the collection back to the system
(:func:`nps_nlp.allocator.release`): after a reload that is a whole model.
"""

from __future__ import annotations

import gc

from nps_nlp import allocator


def freeze_heap(thaw: bool = True) -> None:
    """Collect what is garbage now, then freeze every object left (see the module's docstring).

    Args:
        thaw: undo the previous freeze first, so that garbage among the frozen objects (a replaced model) is
            collected too; ``False`` collects and freezes only the objects made since.
    """
    if thaw:
        gc.unfreeze()
    gc.collect()
    gc.freeze()
    allocator.release()


__all__ = ["freeze_heap"]
