"""Serving and hardening: what stands between the network and the routes, and how the server starts and stops.

guards           what every request passes first: host name, origin, API token, a sane body, CORS, safe headers
shield           the outermost WSGI layer: refusals before Flask or Engine.IO see a request, in JSON
sessions         Engine.IO sessions: admitted by token, the others capped and expired fast
serving          how connections are held: header deadline, the connection cap, JSON refusals, werkzeug's handler
eventlet_server  the same for eventlet.wsgi: a header deadline, a pool that makes room
modes            per async mode, the options socketio.run hands the server (above serving and eventlet_server)
listen           the listening socket: one gateway per port, a taken port named
lifecycle        starting safely (remote-listen check, profile claim), serving, and the stop signals
"""
