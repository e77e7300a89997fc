int not_a_driver_symbol(void) { return 42; }
