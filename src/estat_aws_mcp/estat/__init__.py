"""e-Stat API 3.0: client, response normalisation, search and keyword suggestions."""
