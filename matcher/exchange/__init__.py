"""Files in and out: entity specifications, readers, row validation, import and export."""
