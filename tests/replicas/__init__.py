"""Test-only SQL replicas of the API models: the oracle of the ORM conformance suite.

``tests/orm/conformance/`` fills them with every row the demo emulator returns and checks that
each API queryset answers what Django's own SQL ORM answers on them.
"""
