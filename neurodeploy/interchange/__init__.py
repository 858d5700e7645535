"""Interchange with other tools' formats: NIR graphs (neuromorphs/NIR) read as networks and written from
them. This layer imports the description layer and the format's own package, never a backend."""
