"""The SAP BAPI connector's machinery: the two transports (RFC through the pyrfc API, RFC over SOAP),
the one result shape both return, BAPIRET2 handling with commit and rollback, pooled sessions,
the demo connector and a helper that runs mock-sap as a process.

The connector type itself (settings, test, open, execute) is ``connectors.catalog.sap``; the
instruction language is ``instructions.bapi``.
"""
