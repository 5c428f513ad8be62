package apps

// webhookRoutes are the company's webhook methods (see webhook package).
func webhookRoutes() []Route { return nil }
