"""Security of the fleet: the local CA, principals and their ACLs, client credentials, tokens.

See docs/security.md for the model.
"""
