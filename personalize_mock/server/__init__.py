"""The standalone server: moto's werkzeug app with the Personalize plugin, one port for all."""
