package apps

func chatRoutes() []Route { return nil }
