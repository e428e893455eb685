"""The `vigie` command groups, one module each with a ``register(subparsers)`` (the way faust's
``cli/`` keeps one file per command). Handlers take the parsed arguments and return an exit code;
errors a user can act on are raised as ``schemas.errors.VigieError`` and printed by ``main()``.

Every `vigie` run builds the whole parser, so a module imports at its top only what parsing
needs; each handler imports the stage it runs (OpenCV, PyAV, the Kafka and MinIO clients are
loaded only by the commands that use them).
"""
