"""The ops API's response shapes, one module per resource (its request shapes are in
``notifier.schemas``, since the domain takes them).

The domain returns records (SQLAlchemy rows, or small frozen dataclasses where a
row is not enough); each model here says how it is read from one (``from_record``
or ``model_validate`` with ``from_attributes``). The class names are the OpenAPI
document's component schema names: renaming one is a breaking change for clients.
"""
