"""The built-in synthetic multi-domain face anti-spoofing benchmark.

Procedural faces with known geometry (:mod:`.face`, :mod:`.geometry`, :mod:`.texture`,
:mod:`.render`), physically motivated recapture attacks (:mod:`.attacks`, :mod:`.media`),
and camera/scene domains (:mod:`.domains`, :mod:`.camera`, :mod:`.scene`), assembled per sample by
:mod:`.generator` and served by :class:`SyntheticFAS`. See ``docs/synthetic.md``.
"""

from disentangle_fas.synthetic.dataset import DEFAULT_DOMAINS, SyntheticFAS, SyntheticRecord
from disentangle_fas.synthetic.domains import DOMAIN_CODES, DOMAINS, DomainSpec
from disentangle_fas.synthetic.export import (
    export_synthetic,
    read_generator_version,
    read_manifest,
)
from disentangle_fas.synthetic.face import LANDMARK_NAMES
from disentangle_fas.synthetic.generator import SampleKey, SampleRender, render_sample
from disentangle_fas.synthetic.labels import (
    ATTACK_NAMES,
    ATTACKS,
    LIVE,
    MASK,
    PRINT,
    REPLAY,
    SEEN_ATTACKS,
    UNSEEN_ATTACKS,
)
from disentangle_fas.synthetic.selection import resolve_attacks, resolve_domains
from disentangle_fas.synthetic.version import GENERATOR_VERSION

#: Domain names by global id (``DOMAIN_NAMES[i]`` describes ``DOMAIN_CODES[i]``).
DOMAIN_NAMES: tuple[str, ...] = tuple(d.name for d in DOMAINS)

__all__ = [
    "ATTACKS",
    "ATTACK_NAMES",
    "DEFAULT_DOMAINS",
    "DOMAINS",
    "DOMAIN_CODES",
    "DOMAIN_NAMES",
    "GENERATOR_VERSION",
    "LANDMARK_NAMES",
    "LIVE",
    "MASK",
    "PRINT",
    "REPLAY",
    "SEEN_ATTACKS",
    "UNSEEN_ATTACKS",
    "DomainSpec",
    "SampleKey",
    "SampleRender",
    "SyntheticFAS",
    "SyntheticRecord",
    "export_synthetic",
    "read_generator_version",
    "read_manifest",
    "render_sample",
    "resolve_attacks",
    "resolve_domains",
]
