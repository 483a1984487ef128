"""The console: the web pages specialists, supervisors, agency admins and participants use.

A pure client of the four services' HTTP APIs, called with the signed-in user's bearer token.
"""
