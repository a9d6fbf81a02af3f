"""The former path of :mod:`mirlens.explain.attribution.attribute` (kept because published examples import it): this
module *is* that one."""

import sys

from mirlens.explain.attribution import attribute as _moved

sys.modules[__name__] = _moved
