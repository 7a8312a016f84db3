"""The owners' committee after its election: members, alternates, chair vote, terms, recall."""
