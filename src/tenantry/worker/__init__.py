"""Background work: the loop that the controller and job runner plug into."""
