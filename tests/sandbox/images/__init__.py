"""Container images of the real node, assembled locally as OCI archives (build_images.py, pause/)."""
