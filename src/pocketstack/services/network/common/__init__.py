"""Neutron's API mechanics, shared by every networking resource (networks, subnets, ports,
security groups now; routers and floating IPs later): request bodies and their error
wording (attributes), standard attributes and tags (standard), listing with fields,
filters, sorting and paging (listing), and attribute-level policy (authorize)."""
