package http

// OpenAPISpec returns the embedded openapi.yaml, the document GET /openapi.yaml serves.
func OpenAPISpec() []byte { return openapiYAML }
