"""Wire models of the REST API: Create/Update/Public shapes, separate from storage models."""
