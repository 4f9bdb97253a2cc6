"""pytest entry point: installs the plugin before any test starts moto."""
from .plugin import install

install()
