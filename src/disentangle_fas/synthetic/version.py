"""The version of the synthetic benchmark's design.

Every sample is a pure function of its key *and of the generator's design* (domain
specifications, attack physics, camera model). :data:`GENERATOR_VERSION` names that
design: it is stored with exported data (``generator.json`` beside the manifest), carried
by every :class:`~disentangle_fas.synthetic.SyntheticFAS`, and printed by the difficulty
report. Any change to what the generator renders bumps it, and results recorded under an
older version do not carry over.

History:

* 1 -- the first design (print, replay and mask physics; five camera/scene domains with
  mild spoof-capture overrides).
* 2 -- stronger, opposed per-domain capture biases of the spoof videos
  (:attr:`~disentangle_fas.synthetic.DomainSpec.spoof_bias`) and 3D-printed masks with
  halftone dots and layer lines next to hand-painted ones
  (:attr:`~disentangle_fas.synthetic.DomainSpec.mask_print`).
* 3 -- 3D masks are cast with a shallower relief than the victim's face
  (:attr:`~disentangle_fas.synthetic.texture.MaskLook.relief`, 0.3-0.9), so their shading is
  flatter than a live face's; printed masks are more frequent in ``Cb`` (0.85) and their
  halftone dots coarser and stronger; ``Cb``'s spoofs are noisier and dimmer but neither
  sharper nor softer than its live pictures; ``I``'s attack media are better and its cues
  fainter, and its spoofs were lit as harshly as its live videos.
* 4 -- ``I``'s and ``M``'s spoofs are exposed less differently from their live videos
  (exposure bias +0.6 and -0.6 instead of +1 and -1), and ``I``'s sensor is noisier (read
  noise 0.018-0.035, shot-noise gain 0.004-0.01).
"""

from __future__ import annotations

__all__ = ["GENERATOR_VERSION"]

#: The design version of the synthetic generator.
GENERATOR_VERSION: int = 4
