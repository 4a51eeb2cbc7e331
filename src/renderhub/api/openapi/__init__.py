"""The API's OpenAPI (Swagger 2.0) document, served at /openapi.json, and its page at /api."""
