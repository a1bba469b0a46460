"""The web page and example patients served by `organo-predict serve` (package data)."""
