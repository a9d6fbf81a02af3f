"""The former path of :mod:`mirlens.explain.attribution.deeplift` (kept because published examples import it): this
module *is* that one."""

import sys

from mirlens.explain.attribution import deeplift as _moved

sys.modules[__name__] = _moved
