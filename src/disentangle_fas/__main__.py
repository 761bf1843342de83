"""``python -m disentangle_fas <command>``: the same as the ``disentangle-fas`` command."""

from disentangle_fas.cli import main

raise SystemExit(main())
