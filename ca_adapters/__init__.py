"""The CA boundary: the protocol every CA implements, and the adapters certsvc ships."""
