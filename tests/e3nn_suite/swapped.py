"""e3nn's ``o3`` namespace with equibasis' spherical harmonics in place of e3nn's."""

import types

from e3nn import o3 as _e3nn_o3

from equibasis.harmonics import SphericalHarmonics, spherical_harmonics

o3 = types.SimpleNamespace(**vars(_e3nn_o3))
o3.spherical_harmonics = spherical_harmonics
o3.SphericalHarmonics = SphericalHarmonics
