"""What runs on the gateway host: the agent that keeps the gateway's files fresh, and the
nginx/HAProxy configs it feeds. Talks to certsvc over HTTP only."""
