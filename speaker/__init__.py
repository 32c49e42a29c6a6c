"""ironlb's speaker: decides what this node announces and announces it (layer 2 and BGP)."""
