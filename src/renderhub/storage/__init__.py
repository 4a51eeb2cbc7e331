"""Storage containers that conversions read models from and write assets to: Azure Blob
containers reached with a SAS (Azurite in the tests), and local folders named by file:// URIs."""
