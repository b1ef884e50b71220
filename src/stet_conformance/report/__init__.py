"""Reports: Allure labels and steps, the results directory, coverage, HTML report, evidence."""
